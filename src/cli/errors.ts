// Exit codes: 0 ok, 1 runtime error, 2 usage error.
export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

/** Wrong flags or arguments: printed with a pointer to --help, exit 2. */
export class UsageError extends Error {}
