/** The case both syslog tests send, to a local receiver (TLS) and to a real rsyslogd (UDP, TCP). */
import { SyslogOutput, type SyslogOutputOptions } from '../../src/outputs/syslog.js';
import { JSON_FORMAT, makeAlert, publishAlerts } from './alerts.js';
import type { TestEnv } from './env.js';

/**
 * Publishes three alerts (Critical; Debug with `hostile` in its output;
 * Emergency with a newline in its hostname), then starts the sinks with one
 * syslog output, facility local0, text lines, to 127.0.0.1.
 */
export async function sendSyslogCase(
  env: TestEnv,
  hostile: string,
  o: Pick<SyslogOutputOptions, 'transport' | 'port' | 'tls'>,
): Promise<void> {
  await publishAlerts(env.bus, [
    makeAlert(1, { priority: 'Critical' }),
    makeAlert(2, { priority: 'Debug', output: `Program ran (cmdline=${hostile})` }),
    makeAlert(3, { priority: 'Emergency', hostname: 'bad host\nname' }),
  ]);
  const format = { ...JSON_FORMAT, json: false };
  await env.startSinks({
    outputs: [{ output: new SyslogOutput({ format, host: '127.0.0.1', facility: 'local0', ...o }) }],
  });
}
