import { CaptureFileError } from './capture/read-result.js';
import { StoreError } from './store/store-error.js';
import { LiveCaptureError } from './capture/live-error.js';

/** A usage or input problem: printed as one line, exit code 2. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** Errors a user can act on are printed as one line; anything else is a bug and keeps its stack. */
export function isUserFacing(err: unknown): err is Error {
  return err instanceof UserError || err instanceof StoreError || err instanceof CaptureFileError || err instanceof LiveCaptureError;
}

export const EXIT_OK = 0;
export const EXIT_FINDING = 1;
export const EXIT_USAGE = 2;
