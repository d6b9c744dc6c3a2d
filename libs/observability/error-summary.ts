/** What a log line says about an error: its type, its message and where it was thrown, each on one line. */
export interface ErrorSummary {
  type: string;
  message: string;
  /** The innermost stack frame ("fn (file:line:column)"), when the error has a stack. */
  at?: string;
}

const MAX_MESSAGE_CHARS = 500;

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').slice(0, MAX_MESSAGE_CHARS);

/**
 * An error as one short line instead of its full stack. Used where an error may repeat per client request: a
 * client that can make the server fail must not be able to fill the log with stack traces, one per request.
 */
export function errorSummary(error: unknown): ErrorSummary {
  if (!(error instanceof Error)) return { type: typeof error, message: oneLine(String(error)) };
  const frame = error.stack
    ?.split('\n')
    .find((line) => line.trimStart().startsWith('at '))
    ?.trim()
    .slice(3);
  return { type: error.name, message: oneLine(error.message), ...(frame ? { at: oneLine(frame) } : {}) };
}
