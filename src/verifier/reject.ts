/**
 * A verdict of "refused": thrown inside the verifier at the first fault of a path, caught by the driver
 * that turns it into the log's last lines. Not a BpfkitError: a refused program is a result, not a failure.
 */

/** The verifier refuses the program at `pc` with the kernel's message. */
export class Rejection extends Error {
  constructor(
    readonly pc: number,
    message: string,
  ) {
    super(message);
    this.name = 'Rejection';
  }
}
