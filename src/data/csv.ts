import { parse } from 'csv-parse/sync';
import { UserError } from '../util/errors.js';

/** One record of a CSV file and the (1-based) line it ends on, for messages. */
export interface CsvRecord {
  fields: string[];
  line: number;
}

export interface CsvOptions {
  /** Field separator(s); default ','. */
  delimiter?: string | string[];
  /** Lines starting with '#' are comments (a '#' inside a field is data). */
  comments?: boolean;
}

/**
 * acnn's one CSV reader (csv-parse): RFC 4180 quoting (a quoted field may hold commas, and ""
 * inside quotes is one "), fields trimmed, records of any length, blank lines skipped, CRLF and
 * a byte-order mark tolerated, a quote inside an unquoted field kept as a character (the row's
 * own checks then judge it). A malformed file (an unclosed quote) is a UserError naming it:
 * past such a quote csv-parse cannot tell where records end, so skipping the record could
 * silently drop the ones after it.
 */
export function parseCsv(text: string, file: string, opts: CsvOptions = {}): CsvRecord[] {
  try {
    const out = parse(text, {
      delimiter: opts.delimiter ?? ',',
      relax_column_count: true,
      relax_quotes: true,
      trim: true,
      bom: true,
      skip_empty_lines: true,
      skip_records_with_empty_values: true,
      info: true,
      ...(opts.comments ? { comment: '#', comment_no_infix: true } : {}),
    }) as unknown as { record: string[]; info: { lines: number } }[];
    return out.map((r) => ({ fields: r.record, line: r.info.lines }));
  } catch (err) {
    throw new UserError(`${file}: not a readable CSV file: ${(err as Error).message}`);
  }
}
