import { RE2JS } from 're2js';

/**
 * `regex`: RE2 syntax and semantics, as Falco (which links RE2), in time
 * linear in the value. JavaScript's RegExp backtracks: `(a+)+b` took 9.7 s on
 * a 29-character process name, and attackers write process names. RE2JS is a
 * port of RE2 to JavaScript; it refuses what RE2 refuses (backreferences,
 * lookaround, repeat counts over 1000), and the compiler reports that as an
 * invalid operand, as Falco does.
 */

/** A test that `pattern` matches the whole value (RE2's FullMatch). Throws on a pattern RE2 refuses. */
export function fullMatcher(pattern: string): (value: string) => boolean {
  const re = RE2JS.compile(pattern);
  return (value) => re.matches(value);
}
