/**
 * An error a user can act on: the CLI prints its message as one line and exits 2. The stages'
 * own kinds (CaptureFileError, StoreError, LiveCaptureError) extend it, so this module imports
 * none of them: every command loads it, and a command that never captures live (an import) should
 * not load the live capture's error module for an instanceof test.
 */
export class UserFacingError extends Error {}

/** A usage or input problem: printed as one line, exit code 2. */
export class UserError extends UserFacingError {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** Errors a user can act on are printed as one line; anything else is a bug and keeps its stack. */
export function isUserFacing(err: unknown): err is Error {
  return err instanceof UserFacingError;
}

export const EXIT_OK = 0;
export const EXIT_FINDING = 1;
export const EXIT_USAGE = 2;
