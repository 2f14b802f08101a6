import type { BinOp, Expr, TplPart } from './ast';
import { parseNumber } from './numbers';

/**
 * A recursive-descent parser for HCL's native expression syntax and templates, enough for what
 * Terraform JSON strings hold: `${...}` interpolations, `%{if}`/`%{for}` directives, and in them
 * operators with HCL's precedence, conditionals, function calls, `for` expressions, splats, index
 * and attribute access, tuple and object constructors, nested quoted templates. Heredocs and
 * comments are refused. Errors are thrown as ParseError with the offset.
 */

export class ParseError extends Error {}

/** Binary operators by precedence, lowest first, as in hclsyntax's binaryOps table; within a level longest first (`<=` before `<`). */
const LEVELS: BinOp[][] = [['||'], ['&&'], ['==', '!='], ['<=', '>=', '<', '>'], ['+', '-'], ['*', '/', '%']];
const ID_START = /[A-Za-z_]/;
const ID_CHAR = /[A-Za-z0-9_-]/;

type Piece =
  | { t: 'lit'; s: string }
  | { t: 'interp'; e: Expr; sl: boolean; sr: boolean }
  | { t: 'dir'; d: 'if' | 'else' | 'endif' | 'for' | 'endfor'; e?: Expr; keyVar?: string; valVar?: string; sl: boolean; sr: boolean };

class Parser {
  pos = 0;
  constructor(readonly src: string) {}

  fail(msg: string): never {
    throw new ParseError(`${msg} at offset ${this.pos}`);
  }

  ws(): void {
    for (;;) {
      const c = this.src[this.pos];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { this.pos++; continue; }
      if (c === '#' || this.src.startsWith('//', this.pos) || this.src.startsWith('/*', this.pos)) this.fail('comments in expressions are not supported');
      return;
    }
  }

  peek(s: string): boolean {
    this.ws();
    return this.src.startsWith(s, this.pos);
  }

  eat(s: string): boolean {
    if (this.peek(s)) { this.pos += s.length; return true; }
    return false;
  }

  expect(s: string): void {
    if (!this.eat(s)) this.fail(`expected '${s}'`);
  }

  ident(): string | undefined {
    this.ws();
    if (!ID_START.test(this.src[this.pos] ?? '')) return undefined;
    const start = this.pos;
    while (ID_CHAR.test(this.src[this.pos] ?? '')) this.pos++;
    return this.src.slice(start, this.pos);
  }

  /** A keyword only when a whole identifier. */
  keyword(w: string): boolean {
    this.ws();
    if (!this.src.startsWith(w, this.pos) || ID_CHAR.test(this.src[this.pos + w.length] ?? '')) return false;
    this.pos += w.length;
    return true;
  }

  expr(): Expr {
    const c = this.binary(0);
    if (this.eat('?')) {
      const t = this.expr();
      this.expect(':');
      const f = this.expr();
      return { k: 'cond', c, t, f };
    }
    return c;
  }

  binary(level: number): Expr {
    if (level >= LEVELS.length) return this.unary();
    let l = this.binary(level + 1);
    for (;;) {
      this.ws();
      // Longest operator first (LEVELS is in that order: sorting a copy on every call was most of
      // parsing a fleet's references); `=>` and a lone `=` end the expression.
      let op: BinOp | undefined;
      for (const o of LEVELS[level]!) if (this.src.startsWith(o, this.pos)) { op = o; break; }
      if (!op) return l;
      this.pos += op.length;
      const r = this.binary(level + 1);
      l = { k: 'bin', op, l, r };
    }
  }

  unary(): Expr {
    this.ws();
    const c = this.src[this.pos];
    if (c === '!' && this.src[this.pos + 1] !== '=') { this.pos++; return { k: 'unary', op: '!', e: this.unary() }; }
    if (c === '-') {
      this.pos++;
      const e = this.unary();
      // A negative literal stays a literal (cdktf writes -1 as a number anyway).
      if (e.k === 'lit' && typeof e.v === 'number') return { k: 'lit', v: -e.v };
      return { k: 'unary', op: '-', e };
    }
    return this.postfix(this.term());
  }

  postfix(base: Expr): Expr {
    let e = base;
    for (;;) {
      this.ws();
      if (this.src.startsWith('[*]', this.pos) || this.src.startsWith('.*', this.pos)) {
        const full = this.src[this.pos] === '[';
        this.pos += full ? 3 : 2;
        // The traversal after a splat applies to each element: attributes (and, for [*], indexes).
        let each: Expr = { k: 'item' };
        for (;;) {
          this.ws();
          if (this.src[this.pos] === '.' && this.src[this.pos + 1] !== '*' && this.src[this.pos + 1] !== '.') {
            this.pos++;
            each = this.attrStep(each);
          } else if (full && this.src[this.pos] === '[' && this.src[this.pos + 1] !== '*') {
            this.pos++;
            const key = this.expr();
            this.expect(']');
            each = { k: 'index', obj: each, key };
          } else break;
        }
        e = { k: 'splat', obj: e, each };
        continue;
      }
      const c = this.src[this.pos];
      if (c === '.' && !this.src.startsWith('...', this.pos)) {
        this.pos++;
        e = this.attrStep(e);
        continue;
      }
      if (c === '[') {
        this.pos++;
        const key = this.expr();
        this.expect(']');
        e = { k: 'index', obj: e, key };
        continue;
      }
      return e;
    }
  }

  attrStep(obj: Expr): Expr {
    this.ws();
    const m = /^\d+/.exec(this.src.slice(this.pos));
    if (m) {
      // Legacy index syntax: `list.0`.
      this.pos += m[0].length;
      return { k: 'index', obj, key: { k: 'lit', v: Number(m[0]) } };
    }
    const name = this.ident();
    if (name === undefined) this.fail('expected an attribute name after "."');
    return { k: 'attr', obj, name };
  }

  term(): Expr {
    this.ws();
    const c = this.src[this.pos];
    if (c === undefined) this.fail('expected an expression');
    if (c === '(') {
      this.pos++;
      const e = this.expr();
      this.expect(')');
      return { k: 'paren', e };
    }
    if (c === '"') {
      this.pos++;
      const parts = this.template('"');
      return tplExpr(parts);
    }
    if (this.src.startsWith('<<', this.pos)) this.fail('heredoc strings are not supported');
    if (/[0-9]/.test(c)) {
      const m = /^\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.src.slice(this.pos))!;
      this.pos += m[0].length;
      const n = parseNumber(m[0]);
      if (typeof n !== 'number') this.fail(n.error);
      return { k: 'lit', v: n };
    }
    if (c === '[') {
      this.pos++;
      const save = this.pos;
      if (this.keyword('for')) {
        const f = this.forHead();
        const valExpr = this.expr();
        const cond = this.keyword('if') ? this.expr() : undefined;
        this.expect(']');
        return { k: 'for', ...f, valExpr, ...(cond ? { cond } : {}), group: false };
      }
      this.pos = save;
      const items: Expr[] = [];
      while (!this.eat(']')) {
        items.push(this.expr());
        if (!this.eat(',') && !this.peek(']')) this.fail("expected ',' or ']' in a tuple");
      }
      return { k: 'tuple', items };
    }
    if (c === '{') {
      this.pos++;
      const save = this.pos;
      if (this.keyword('for')) {
        const f = this.forHead();
        const keyExpr = this.expr();
        this.expect('=>');
        const valExpr = this.expr();
        const group = this.eat('...');
        const cond = this.keyword('if') ? this.expr() : undefined;
        this.expect('}');
        return { k: 'for', ...f, keyExpr, valExpr, ...(cond ? { cond } : {}), group };
      }
      this.pos = save;
      const items: { key: Expr; value: Expr }[] = [];
      while (!this.eat('}')) {
        const kstart = this.pos;
        let key = this.expr();
        // A bare name as a key is the name itself, not a variable.
        if (key.k === 'scope') key = { k: 'lit', v: key.name };
        else if (key.k !== 'paren' && key.k !== 'tpl' && key.k !== 'lit') { this.pos = kstart; this.fail('an object key must be a name, a string or a parenthesized expression'); }
        if (!this.eat('=') && !this.eat(':')) this.fail("expected '=' after an object key");
        if (this.src[this.pos] === '=' || this.src[this.pos] === '>') this.fail("expected an expression after '='");
        items.push({ key, value: this.expr() });
        this.eat(',');
      }
      return { k: 'object', items };
    }
    const name = this.ident();
    if (name === undefined) this.fail(`unexpected character '${c}'`);
    if (name === 'true') return { k: 'lit', v: true };
    if (name === 'false') return { k: 'lit', v: false };
    if (name === 'null') return { k: 'lit', v: null };
    if (this.src.startsWith('::', this.pos)) this.fail('provider-defined functions (provider::...) are not supported');
    this.ws();
    if (this.src[this.pos] === '(') {
      this.pos++;
      const args: Expr[] = [];
      let expand = false;
      while (!this.eat(')')) {
        args.push(this.expr());
        if (this.eat('...')) { expand = true; this.expect(')'); break; }
        if (!this.eat(',') && !this.peek(')')) this.fail(`expected ',' or ')' in the arguments of ${name}`);
      }
      return { k: 'call', name, args, expand };
    }
    return { k: 'scope', name };
  }

  forHead(): { keyVar?: string; valVar: string; coll: Expr } {
    const a = this.ident();
    if (a === undefined) this.fail('expected a variable name after "for"');
    let keyVar: string | undefined;
    let valVar = a;
    if (this.eat(',')) {
      keyVar = a;
      const b = this.ident();
      if (b === undefined) this.fail('expected a second variable name');
      valVar = b;
    }
    if (!this.keyword('in')) this.fail('expected "in"');
    const coll = this.expr();
    this.expect(':');
    return { ...(keyVar !== undefined ? { keyVar } : {}), valVar, coll };
  }

  /**
   * Template text until `end` ('"' for a quoted string, '' for the whole source). Quoted templates
   * take HCL's escapes; a Terraform JSON string's text is already unescaped by JSON.
   */
  template(end: '"' | ''): TplPart[] {
    const pieces: Piece[] = [];
    let lit = '';
    const flush = () => { if (lit) pieces.push({ t: 'lit', s: lit }); lit = ''; };
    const s = this.src;
    for (;;) {
      if (this.pos >= s.length) {
        if (end === '"') this.fail('unterminated string');
        break;
      }
      const c = s[this.pos]!;
      if (end === '"' && c === '"') { this.pos++; break; }
      if (s.startsWith('$${', this.pos)) { lit += '${'; this.pos += 3; continue; }
      if (s.startsWith('%%{', this.pos)) { lit += '%{'; this.pos += 3; continue; }
      if (s.startsWith('${', this.pos)) {
        flush();
        this.pos += 2;
        const sl = this.src[this.pos] === '~';
        if (sl) this.pos++;
        const e = this.expr();
        this.ws();
        const sr = this.src[this.pos] === '~';
        if (sr) this.pos++;
        this.expect('}');
        pieces.push({ t: 'interp', e, sl, sr });
        continue;
      }
      if (s.startsWith('%{', this.pos)) {
        flush();
        this.pos += 2;
        const sl = this.src[this.pos] === '~';
        if (sl) this.pos++;
        const kw = this.ident();
        let piece: Piece;
        if (kw === 'if') piece = { t: 'dir', d: 'if', e: this.expr(), sl, sr: false };
        else if (kw === 'else' || kw === 'endif' || kw === 'endfor') piece = { t: 'dir', d: kw, sl, sr: false };
        else if (kw === 'for') {
          const a = this.ident();
          if (a === undefined) this.fail('expected a variable name after "for"');
          let keyVar: string | undefined;
          let valVar = a;
          if (this.eat(',')) { keyVar = a; valVar = this.ident() ?? this.fail('expected a second variable name'); }
          if (!this.keyword('in')) this.fail('expected "in"');
          piece = { t: 'dir', d: 'for', e: this.expr(), ...(keyVar !== undefined ? { keyVar } : {}), valVar, sl, sr: false };
        } else this.fail(`unknown template directive %{${kw ?? ''}`);
        this.ws();
        if (this.src[this.pos] === '~') { piece.sr = true; this.pos++; }
        this.expect('}');
        pieces.push(piece);
        continue;
      }
      if (end === '"' && c === '\\') {
        const n = s[this.pos + 1];
        const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };
        if (n !== undefined && n in simple) { lit += simple[n]; this.pos += 2; continue; }
        if (n === 'u' || n === 'U') {
          const len = n === 'u' ? 4 : 8;
          const hex = s.slice(this.pos + 2, this.pos + 2 + len);
          if (!new RegExp(`^[0-9A-Fa-f]{${len}}$`).test(hex)) this.fail('invalid unicode escape');
          const cp = parseInt(hex, 16);
          if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) this.fail('invalid unicode escape');
          lit += String.fromCodePoint(cp);
          this.pos += 2 + len;
          continue;
        }
        this.fail(`invalid escape sequence \\${n ?? ''}`);
      }
      if (end === '"' && c === '\n') this.fail('unterminated string (a newline in a quoted string)');
      lit += c;
      this.pos++;
    }
    flush();
    return buildParts(applyStrips(pieces), (m) => this.fail(m));
  }
}

function applyStrips(pieces: Piece[]): Piece[] {
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i]!;
    if (p.t === 'lit') continue;
    const prev = pieces[i - 1];
    const next = pieces[i + 1];
    if (p.sl && prev?.t === 'lit') prev.s = prev.s.replace(/[ \t\r\n]+$/, '');
    if (p.sr && next?.t === 'lit') next.s = next.s.replace(/^[ \t\r\n]+/, '');
  }
  return pieces;
}

function buildParts(pieces: Piece[], fail: (m: string) => never): TplPart[] {
  let i = 0;
  const seq = (until: string[]): { parts: TplPart[]; stop?: string } => {
    const parts: TplPart[] = [];
    while (i < pieces.length) {
      const p = pieces[i]!;
      if (p.t === 'lit') { if (p.s) parts.push(p.s); i++; continue; }
      if (p.t === 'interp') { parts.push({ k: 'interp', e: p.e }); i++; continue; }
      if (until.includes(p.d)) { i++; return { parts, stop: p.d }; }
      i++;
      if (p.d === 'if') {
        const a = seq(['else', 'endif']);
        let els: TplPart[] = [];
        if (a.stop === 'else') {
          const b = seq(['endif']);
          if (b.stop !== 'endif') fail('%{if} without %{endif}');
          els = b.parts;
        } else if (a.stop !== 'endif') fail('%{if} without %{endif}');
        parts.push({ k: 'if', cond: p.e!, then: a.parts, else: els });
      } else if (p.d === 'for') {
        const b = seq(['endfor']);
        if (b.stop !== 'endfor') fail('%{for} without %{endfor}');
        parts.push({ k: 'for', ...(p.keyVar !== undefined ? { keyVar: p.keyVar } : {}), valVar: p.valVar!, coll: p.e!, body: b.parts });
      } else fail(`unexpected %{${p.d}}`);
    }
    return { parts };
  };
  const r = seq([]);
  return r.parts;
}

function tplExpr(parts: TplPart[]): Expr {
  if (parts.length === 0) return { k: 'lit', v: '' };
  if (parts.length === 1 && typeof parts[0] === 'string') return { k: 'lit', v: parts[0] };
  return { k: 'tpl', parts };
}

/** A Terraform JSON string as a template: null when it holds no interpolation or directive. */
export function parseJsonTemplate(s: string): Expr | null {
  if (!s.includes('${') && !s.includes('%{')) return null;
  const p = new Parser(s);
  const parts = p.template('');
  if (parts.every((x) => typeof x === 'string')) return { k: 'lit', v: parts.join('') };
  return { k: 'tpl', parts };
}

/** One bare expression (a reference in depends_on, a traversal in ignore_changes). */
export function parseExpression(s: string): Expr {
  const p = new Parser(s);
  const e = p.expr();
  p.ws();
  if (p.pos < s.length) p.fail(`unexpected '${s[p.pos]}'`);
  return e;
}
