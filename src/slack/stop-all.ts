/** `/agent sessions` (admins): what runs now. */
export const isListSessions = (text: string): boolean => /^\s*sessions\s*$/i.test(text);

/** `/agent stop-all` (any case, nothing after it). */
export const isStopAll = (text: string): boolean => /^\s*stop-all\s*$/i.test(text);
