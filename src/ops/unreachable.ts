/**
 * The end of an exhaustive `switch` over a `{ kind }` union: `tsc` fails when a case is
 * missing (the value is not `never` then), and a value that slips past the types anyway
 * (a record from an older version) throws instead of falling through in silence.
 */
export function unreachable(value: never): never {
  throw new Error(`unexpected case: ${JSON.stringify(value)}`);
}
