import type { Expr, FieldOperand, FieldRef, ValueOperand } from './ast.js';

/**
 * Rewrites a condition bottom-up: children first, then `fn` on the node with
 * its rewritten children. `fn` returns the node itself to keep it. Unchanged
 * subtrees keep their identity, so a rewrite that changes nothing returns the
 * very same object. A node `fn` returns is not visited again (a macro body put
 * in place of an identifier is not walked a second time).
 */
export function mapExpr(expr: Expr, fn: (node: Expr) => Expr): Expr {
  switch (expr.kind) {
    case 'and':
    case 'or': {
      let changed = false;
      const children = expr.children.map((c) => {
        const m = mapExpr(c, fn);
        if (m !== c) changed = true;
        return m;
      });
      return fn(changed ? { ...expr, children } : expr);
    }
    case 'not': {
      const child = mapExpr(expr.child, fn);
      return fn(child === expr.child ? expr : { ...expr, child });
    }
    default:
      return fn(expr);
  }
}

/** Visits every node, parents before children. */
export function forEachNode(expr: Expr, fn: (node: Expr) => void): void {
  fn(expr);
  switch (expr.kind) {
    case 'and':
    case 'or':
      for (const c of expr.children) forEachNode(c, fn);
      return;
    case 'not':
      forEachNode(expr.child, fn);
      return;
    default:
      return;
  }
}

/** Visits every field reference: left sides, transformer arguments and `val(...)`. */
export function forEachFieldRef(expr: Expr, fn: (ref: FieldRef) => void): void {
  forEachNode(expr, (node) => {
    if (node.kind === 'binary') {
      visitOperand(node.left, fn);
      visitValue(node.right, fn);
    } else if (node.kind === 'unary') {
      visitOperand(node.left, fn);
    }
  });
}

function visitOperand(op: FieldOperand, fn: (ref: FieldRef) => void): void {
  if (op.kind === 'field') {
    fn(op);
    return;
  }
  for (const a of op.args) if (a.kind !== 'value') visitOperand(a, fn);
}

function visitValue(v: ValueOperand, fn: (ref: FieldRef) => void): void {
  if (v.kind === 'val') visitOperand(v.field, fn);
}
