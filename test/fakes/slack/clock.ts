// One process-wide clock so payload builders (which have no fake at hand) and every fake
// mint from the same strictly increasing sequence.
let lastSec = 0;
let seq = 0;

/** `"<10-digit seconds>.<6-digit seq>"`, strictly increasing even if Date.now() goes back. */
export function nextTs(): string {
  const now = Math.floor(Date.now() / 1000);
  if (now > lastSec) {
    lastSec = now;
    seq = 0;
  }
  seq += 1;
  if (seq > 999_999) {
    lastSec += 1;
    seq = 1;
  }
  return `${lastSec}.${String(seq).padStart(6, '0')}`;
}

export function compareTs(a: string, b: string): number {
  const [as = '0', af = '0'] = a.split('.');
  const [bs = '0', bf = '0'] = b.split('.');
  return Number(as) - Number(bs) || Number(af.padEnd(6, '0')) - Number(bf.padEnd(6, '0'));
}

let counter = 0;
/** Unique ids like `Ev0001A2B3`, `F0002…`. */
export function mintId(prefix: string): string {
  counter += 1;
  return `${prefix}${String(counter).padStart(4, '0')}${Math.random().toString(36).slice(2, 8).toUpperCase()}`;
}
