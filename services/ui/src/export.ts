/**
 * Export: every matching alert, newest first, as JSON lines or CSV,
 * streamed page by page with the socket's backpressure (no cap, bounded
 * memory). CSV cells that a spreadsheet would run as a formula (starting
 * with = + - @, a tab or a carriage return) are prefixed with a quote.
 */
import type { ServerResponse } from 'node:http';
import type { UiEvent } from './event.js';
import type { Filters } from './filters.js';
import type { AlertReader } from './reader.js';

export const EXPORT_FORMATS = ['jsonl', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const CSV_COLUMNS = [
  'id',
  'time',
  'priority',
  'rule',
  'source',
  'hostname',
  'tags',
  'output',
  'output_fields',
];
const PAGE = 1000;

/** One CSV cell: formula starters neutralised, quoted, quotes doubled. */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return `"${safe.replaceAll('"', '""')}"`;
}

function csvRow(e: UiEvent): string {
  const cells = [
    e.id,
    e.time,
    e.priority,
    e.rule,
    e.source,
    e.hostname,
    e.tags.join(';'),
    e.output,
    JSON.stringify(e.output_fields),
  ];
  return `${cells.map(csvCell).join(',')}\r\n`;
}

function write(res: ServerResponse, text: string): Promise<void> {
  if (res.write(text)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      if (res.destroyed && !res.writableFinished) reject(new Error('client went away'));
      else resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

export async function streamExport(
  res: ServerResponse,
  store: AlertReader,
  filters: Filters,
  format: ExportFormat,
): Promise<void> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  res.statusCode = 200;
  res.setHeader(
    'Content-Type',
    format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
  );
  res.setHeader('Content-Disposition', `attachment; filename="saker-alerts-${stamp}.${format}"`);
  res.setHeader('Cache-Control', 'no-store');
  if (format === 'csv') await write(res, `${CSV_COLUMNS.join(',')}\r\n`);
  let cursor: string | null = null;
  for (;;) {
    let events: UiEvent[];
    try {
      ({ events, next: cursor } = await store.batch(filters, PAGE, cursor));
    } catch (err) {
      // The headers are sent: all that can be said is to cut the stream short.
      res.destroy(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (events.length === 0) break;
    let chunk = '';
    for (const e of events) chunk += format === 'csv' ? csvRow(e) : `${JSON.stringify(e)}\n`;
    try {
      await write(res, chunk);
    } catch {
      return;
    }
    if (cursor === null) break;
  }
  res.end();
}
