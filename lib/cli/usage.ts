/** A mistake in the command line: reported in one line, with a pointer to --help, and exit code 2. */
export class UsageError extends Error {}
