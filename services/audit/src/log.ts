/** Where the service says what happened. Injected, so tests and `saker run` choose. */
export type AuditLogLevel = 'info' | 'warn' | 'error';
export type AuditLogger = (level: AuditLogLevel, message: string) => void;

/** One line on stderr per message, prefixed with the service name. */
export const stderrLogger: AuditLogger = (level, message) => {
  process.stderr.write(`audit: ${level}: ${message}\n`);
};
