/**
 * JSONata mappings, kept inline in options (`expression`) or in a file beside the config (`expressionFile`).
 * Compiled once per text; errors become PermanentErrors that name the route (or source) and the expression, and
 * never carry a value from the case (JSONata messages that would quote one are left out, only code and position stay).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import jsonata from 'jsonata';
import { PermanentError, type ErrorContext } from 'caseway/core';

export interface ExpressionOptions {
  expression?: string;
  expressionFile?: string;
}

export interface LoadedExpression {
  /** "options.expression" or the file's path as configured: how an operator finds it. */
  label: string;
  text: string;
  evaluate(input: unknown, bindings: Record<string, unknown>): Promise<unknown>;
}

const EXPRESSION_EXCERPT = 120;
const compiled = new Map<string, jsonata.Expression>();

interface JsonataFault {
  code?: unknown;
  position?: unknown;
  token?: unknown;
  value?: unknown;
  message?: unknown;
}

/** The part of a JSONata error that is safe to show: code, position, and the message only when it quotes no value. */
export function describeJsonataError(err: unknown): string {
  const fault: JsonataFault = typeof err === 'object' && err !== null ? err : {};
  const parts: string[] = [];
  if (typeof fault.code === 'string') parts.push(fault.code);
  if (typeof fault.position === 'number') parts.push(`at position ${fault.position}`);
  if (fault.value === undefined && typeof fault.message === 'string') parts.push(fault.message.slice(0, 200));
  return parts.length ? parts.join(' ') : 'evaluation failed';
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > EXPRESSION_EXCERPT ? `${flat.slice(0, EXPRESSION_EXCERPT)}…` : flat;
}

function compile(text: string, label: string, where: string, context: ErrorContext): jsonata.Expression {
  const cached = compiled.get(text);
  if (cached) return cached;
  try {
    const expr = jsonata(text);
    compiled.set(text, expr);
    return expr;
  } catch (err) {
    throw new PermanentError(`webhook: ${where}: the JSONata expression ${label} does not compile (${describeJsonataError(err)}): ${excerpt(text)}`, { ...context, expression: label });
  }
}

/**
 * The expression the options name, or undefined when they name none. `where` names the route target or source for
 * messages; files are read relative to `configDir`.
 */
export function loadExpression(options: ExpressionOptions, where: string, configDir: string | undefined, context: ErrorContext): LoadedExpression | undefined {
  let text: string;
  let label: string;
  if (typeof options.expression === 'string' && options.expression.trim()) {
    text = options.expression;
    label = 'options.expression';
  } else if (typeof options.expressionFile === 'string' && options.expressionFile) {
    label = options.expressionFile;
    const file = path.resolve(configDir ?? process.cwd(), options.expressionFile);
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new PermanentError(`webhook: ${where}: cannot read the JSONata file ${label} (${typeof code === 'string' ? code : 'read failed'})`, { ...context, expression: label });
    }
  } else {
    return undefined;
  }
  const expr = compile(text, label, where, context);
  return {
    label,
    text,
    async evaluate(input, bindings) {
      try {
        return await expr.evaluate(input, bindings);
      } catch (err) {
        throw new PermanentError(`webhook: ${where}: the JSONata expression ${label} failed (${describeJsonataError(err)}): ${excerpt(text)}`, { ...context, expression: label });
      }
    },
  };
}
