/**
 * Thrown for unreadable or malformed dataset files. `file` names the file at fault and `record`, where it
 * applies, the zero-based index of the record (image or label) at fault; both also appear in `message`.
 */
export class DatasetError extends Error {
  readonly file: string | undefined;
  readonly record: number | undefined;

  constructor(message: string, options: { file?: string; record?: number; cause?: unknown } = {}) {
    const where = options.file === undefined ? '' : `${options.file}: `;
    const rec = options.record === undefined ? '' : ` (record ${options.record})`;
    super(`${where}${message}${rec}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DatasetError';
    this.file = options.file;
    this.record = options.record;
  }
}
