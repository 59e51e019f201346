/**
 * The subset of OData `$filter` the gallery used, parsed into a tree and evaluated against entity JSON.
 *
 * Grammar (keywords are case-sensitive, as in OData):
 * ```
 * expr       := or
 * or         := and ('or' and)*
 * and        := unary ('and' unary)*
 * unary      := 'not' unary | comparison
 * comparison := operand (('eq'|'ne'|'gt'|'ge'|'lt'|'le') operand)?
 * operand    := '(' expr ')' | literal | path | path '/' ('any'|'all') '(' [ident ':' expr] ')'
 * path       := ident ('/' ident)*
 * literal    := 'single-quoted, '' for a quote' | -?digits[.digits] | true | false | null
 * ```
 * A path names a field of the entity (`author/id`, `hidden`), or, inside a lambda, starts with the lambda's
 * variable (`tags/any(t: t eq 'ml')`).
 */

export type FilterLiteral = string | number | boolean | null;
export type ComparisonOperator = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

export type FilterNode =
  | { kind: 'literal'; value: FilterLiteral }
  | { kind: 'path'; segments: string[] }
  | { kind: 'compare'; operator: ComparisonOperator; left: FilterNode; right: FilterNode }
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; operand: FilterNode }
  | {
      kind: 'lambda';
      quantifier: 'any' | 'all';
      collection: string[];
      variable?: string;
      predicate?: FilterNode;
    };

/** A `$filter` that does not parse; the server answers 400 with this message. */
export class ODataFilterError extends Error {
  override readonly name = 'ODataFilterError';
  constructor(
    message: string,
    /** Zero-based character offset in the filter text. */
    readonly position: number,
  ) {
    super(`${message} at position ${position}`);
  }
}

const COMPARISON_OPERATORS: ReadonlySet<string> = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);

interface Token {
  type: 'string' | 'number' | 'ident' | 'punct' | 'end';
  text: string;
  value?: string | number;
  position: number;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === "'") {
      const start = i;
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new ODataFilterError('Unterminated string literal', start);
        const c = text[i] as string;
        if (c === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += c;
        i++;
      }
      tokens.push({ type: 'string', text: text.slice(start, i), value, position: start });
    } else if (/[0-9]/.test(ch) || (ch === '-' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const match = /^-?\d+(\.\d+)?/.exec(text.slice(i)) as RegExpExecArray;
      const after = text[i + match[0].length] ?? '';
      if (/[A-Za-z_$.]/.test(after)) throw new ODataFilterError(`Malformed number '${match[0]}${after}'`, i);
      tokens.push({ type: 'number', text: match[0], value: Number(match[0]), position: i });
      i += match[0].length;
    } else if (/[A-Za-z_$]/.test(ch)) {
      const match = /^[A-Za-z_$][A-Za-z0-9_]*/.exec(text.slice(i)) as RegExpExecArray;
      tokens.push({ type: 'ident', text: match[0], position: i });
      i += match[0].length;
    } else if ('()/:,'.includes(ch)) {
      tokens.push({ type: 'punct', text: ch, position: i });
      i++;
    } else {
      throw new ODataFilterError(`Unexpected character '${ch}'`, i);
    }
  }
  tokens.push({ type: 'end', text: '', position: text.length });
  return tokens;
}

/** Parses a `$filter` value. Throws {@link ODataFilterError} for anything outside the grammar. */
export function parseFilter(text: string): FilterNode {
  const tokens = tokenize(text);
  let index = 0;
  const peek = (): Token => tokens[index] as Token;
  const next = (): Token => tokens[index++] as Token;
  const isKeyword = (word: string): boolean => peek().type === 'ident' && peek().text === word;
  const expectPunct = (punct: string): void => {
    const token = next();
    if (token.type !== 'punct' || token.text !== punct) {
      throw new ODataFilterError(`Expected '${punct}' but found ${describe(token)}`, token.position);
    }
  };

  if (peek().type === 'end') throw new ODataFilterError('The filter is empty', 0);
  const root = parseOr();
  if (peek().type !== 'end') throw new ODataFilterError(`Unexpected ${describe(peek())}`, peek().position);
  requireBoolean(root, 0);
  return root;

  function parseOr(): FilterNode {
    let left = parseAnd();
    while (isKeyword('or')) {
      const at = next().position;
      const right = parseAnd();
      requireBoolean(left, at);
      requireBoolean(right, at);
      left = { kind: 'or', left, right };
    }
    return left;
  }

  function parseAnd(): FilterNode {
    let left = parseUnary();
    while (isKeyword('and')) {
      const at = next().position;
      const right = parseUnary();
      requireBoolean(left, at);
      requireBoolean(right, at);
      left = { kind: 'and', left, right };
    }
    return left;
  }

  function parseUnary(): FilterNode {
    if (isKeyword('not')) {
      const at = next().position;
      const operand = parseUnary();
      requireBoolean(operand, at);
      return { kind: 'not', operand };
    }
    const left = parseOperand();
    if (peek().type === 'ident' && COMPARISON_OPERATORS.has(peek().text)) {
      const operator = next().text as ComparisonOperator;
      return { kind: 'compare', operator, left, right: parseOperand() };
    }
    return left;
  }

  function parseOperand(): FilterNode {
    const token = next();
    if (token.type === 'punct' && token.text === '(') {
      const inner = parseOr();
      expectPunct(')');
      return inner;
    }
    if (token.type === 'string' || token.type === 'number')
      return { kind: 'literal', value: token.value ?? null };
    if (token.type !== 'ident')
      throw new ODataFilterError(`Expected a value but found ${describe(token)}`, token.position);
    if (token.text === 'true' || token.text === 'false')
      return { kind: 'literal', value: token.text === 'true' };
    if (token.text === 'null') return { kind: 'literal', value: null };
    if (['and', 'or', 'not', ...COMPARISON_OPERATORS].includes(token.text)) {
      throw new ODataFilterError(`Unexpected keyword '${token.text}'`, token.position);
    }

    const segments = [token.text];
    while (peek().type === 'punct' && peek().text === '/') {
      next();
      const segment = next();
      if (segment.type !== 'ident') {
        throw new ODataFilterError(
          `Expected a property name but found ${describe(segment)}`,
          segment.position,
        );
      }
      const isLambda =
        (segment.text === 'any' || segment.text === 'all') && peek().text === '(' && peek().type === 'punct';
      if (isLambda) return parseLambda(segment.text as 'any' | 'all', segments, segment.position);
      segments.push(segment.text);
    }
    return { kind: 'path', segments };
  }

  function parseLambda(quantifier: 'any' | 'all', collection: string[], at: number): FilterNode {
    expectPunct('(');
    if (peek().type === 'punct' && peek().text === ')') {
      if (quantifier === 'all') throw new ODataFilterError("'all' needs a lambda expression", at);
      next();
      return { kind: 'lambda', quantifier, collection };
    }
    const variable = next();
    if (variable.type !== 'ident') {
      throw new ODataFilterError(
        `Expected a lambda variable but found ${describe(variable)}`,
        variable.position,
      );
    }
    expectPunct(':');
    const predicate = parseOr();
    requireBoolean(predicate, variable.position);
    expectPunct(')');
    return { kind: 'lambda', quantifier, collection, variable: variable.text, predicate };
  }
}

/** Literals other than true/false cannot stand where a condition is expected (`$filter=1` is a 400). */
function requireBoolean(node: FilterNode, position: number): void {
  if (node.kind === 'literal' && typeof node.value !== 'boolean') {
    throw new ODataFilterError('Expected a boolean expression', position);
  }
}

function describe(token: Token): string {
  return token.type === 'end' ? 'the end of the filter' : `'${token.text}'`;
}

export interface EvaluateFilterOptions {
  /**
   * Paths (segments joined by '/') whose string comparisons ignore case: author IDs are upper-case in the
   * gallery but users type them in any case.
   * @default ['author/id', 'owner/id']
   */
  caseInsensitivePaths?: readonly string[];
}

const DEFAULT_CASE_INSENSITIVE_PATHS: ReadonlySet<string> = new Set(['author/id', 'owner/id']);

/** Evaluates a parsed filter against one entity (any JSON value). Missing fields are `null`. */
export function evaluateFilter(
  node: FilterNode,
  entity: unknown,
  options: EvaluateFilterOptions = {},
): boolean {
  const caseInsensitive = options.caseInsensitivePaths
    ? new Set(options.caseInsensitivePaths)
    : DEFAULT_CASE_INSENSITIVE_PATHS;
  return evaluate(node, new Map()) === true;

  function evaluate(current: FilterNode, scope: Map<string, unknown>): unknown {
    switch (current.kind) {
      case 'literal':
        return current.value;
      case 'path':
        return resolve(current.segments, scope);
      case 'and':
        return evaluate(current.left, scope) === true && evaluate(current.right, scope) === true;
      case 'or':
        return evaluate(current.left, scope) === true || evaluate(current.right, scope) === true;
      case 'not':
        return evaluate(current.operand, scope) !== true;
      case 'compare':
        return compare(
          current.operator,
          evaluate(current.left, scope),
          evaluate(current.right, scope),
          isCaseInsensitive(current.left, scope) || isCaseInsensitive(current.right, scope),
        );
      case 'lambda': {
        const collection = resolve(current.collection, scope);
        if (!Array.isArray(collection)) return false;
        const { predicate, variable } = current;
        if (predicate === undefined || variable === undefined) return collection.length > 0;
        const test = (element: unknown): boolean =>
          evaluate(predicate, new Map(scope).set(variable, element)) === true;
        return current.quantifier === 'any' ? collection.some(test) : collection.every(test);
      }
    }
  }

  function resolve(segments: readonly string[], scope: Map<string, unknown>): unknown {
    const [first = '', ...rest] = segments;
    let value: unknown = scope.has(first) ? scope.get(first) : field(entity, first);
    for (const segment of rest) value = field(value, segment);
    return value;
  }

  function isCaseInsensitive(node: FilterNode, scope: Map<string, unknown>): boolean {
    return (
      node.kind === 'path' &&
      !scope.has(node.segments[0] ?? '') &&
      caseInsensitive.has(node.segments.join('/'))
    );
  }
}

function field(value: unknown, name: string): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  return Object.prototype.hasOwnProperty.call(value, name)
    ? ((value as Record<string, unknown>)[name] ?? null)
    : null;
}

const NUMERIC_STRING = /^-?\d+(\.\d+)?$/;

/**
 * OData would reject comparing a number with a string; the simulator compares `entity_type eq 7` true for
 * both `7` and `"7"`, because the API itself sent that field both ways.
 */
function compare(operator: ComparisonOperator, left: unknown, right: unknown, ignoreCase: boolean): boolean {
  let a = left ?? null;
  let b = right ?? null;
  if (typeof a === 'number' && typeof b === 'string' && NUMERIC_STRING.test(b)) b = Number(b);
  if (typeof b === 'number' && typeof a === 'string' && NUMERIC_STRING.test(a)) a = Number(a);
  if (ignoreCase && typeof a === 'string' && typeof b === 'string') {
    a = a.toUpperCase();
    b = b.toUpperCase();
  }
  const comparable = (x: unknown): x is string | number | boolean | null =>
    x === null || typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean';
  if (operator === 'eq' || operator === 'ne') {
    const equal = comparable(a) && comparable(b) && a === b;
    return operator === 'eq' ? equal : !equal;
  }
  if (typeof a === 'number' && typeof b === 'number') return order(operator, a, b);
  if (typeof a === 'string' && typeof b === 'string') return order(operator, a, b);
  return false;
}

function order<T extends string | number>(operator: 'gt' | 'ge' | 'lt' | 'le', a: T, b: T): boolean {
  switch (operator) {
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
  }
}

/**
 * The values a filter requires `path` to equal in every match: the string literals of `path eq '...'`
 * comparisons reachable from the root through `and` only. `author/id eq 'A' and tags/any(...)` gives
 * `['A']`; `author/id eq 'A' or author/id eq 'B'` gives `[]` (no single author is implied).
 */
export function requiredEqualities(node: FilterNode, path: string): string[] {
  switch (node.kind) {
    case 'and':
      return [...requiredEqualities(node.left, path), ...requiredEqualities(node.right, path)];
    case 'compare': {
      if (node.operator !== 'eq') return [];
      const [pathSide, valueSide] =
        node.left.kind === 'path' ? [node.left, node.right] : [node.right, node.left];
      if (pathSide.kind === 'path' && pathSide.segments.join('/') === path && valueSide.kind === 'literal') {
        return typeof valueSide.value === 'string' ? [valueSide.value] : [];
      }
      return [];
    }
    default:
      return [];
  }
}
