/** The elasticsearch backend from `ui.store.elasticsearch` (libs/config): its client and reader. */
import { readFileSync } from 'node:fs';
import type { UiElasticsearchConfig } from '@saker/config';
import { OptionError } from '@saker/runtime';
import { EsClient } from './es-http.js';
import { EsReader } from './store-es.js';

/** Answers above this are refused: a page of 1000 alerts is far below it. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export function elasticsearchReader(config: UiElasticsearchConfig | undefined): EsReader {
  if (config === undefined) throw new OptionError('ui.store.elasticsearch', 'not configured');
  let ca: Buffer | null = null;
  if (config.ca !== null) {
    try {
      ca = readFileSync(config.ca);
    } catch (err) {
      throw new OptionError(
        'ui.store.elasticsearch.ca',
        `cannot read ${config.ca}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      );
    }
  }
  const client = new EsClient({
    url: config.url,
    auth: config.auth,
    ca,
    timeoutMs: config.timeoutMs,
    maxResponseBytes: MAX_RESPONSE_BYTES,
  });
  return new EsReader({ client, index: config.index, timeField: config.timeField, mappingTtlMs: 60_000 });
}
