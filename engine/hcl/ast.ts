import type { Value } from '../protocol';

/** HCL native-syntax expressions, as they appear inside `${...}` in Terraform JSON. */
export type Expr =
  | { k: 'lit'; v: Value }
  | { k: 'tpl'; parts: TplPart[] }
  /** A name at the root of a traversal: `var`, `aws_x`, a `for` variable. */
  | { k: 'scope'; name: string }
  | { k: 'attr'; obj: Expr; name: string }
  | { k: 'index'; obj: Expr; key: Expr }
  /** `obj[*]<each>` / `obj.*<each>`: `each` is applied to every element, which is `{k:'item'}` in it. */
  | { k: 'splat'; obj: Expr; each: Expr }
  | { k: 'item' }
  | { k: 'call'; name: string; args: Expr[]; expand: boolean }
  | { k: 'unary'; op: '!' | '-'; e: Expr }
  | { k: 'bin'; op: BinOp; l: Expr; r: Expr }
  | { k: 'cond'; c: Expr; t: Expr; f: Expr }
  | { k: 'tuple'; items: Expr[] }
  | { k: 'object'; items: { key: Expr; value: Expr }[] }
  | { k: 'for'; keyVar?: string; valVar: string; coll: Expr; keyExpr?: Expr; valExpr: Expr; cond?: Expr; group: boolean }
  | { k: 'paren'; e: Expr };

export type BinOp = '||' | '&&' | '==' | '!=' | '<' | '>' | '<=' | '>=' | '+' | '-' | '*' | '/' | '%';

export type TplPart =
  | string
  | { k: 'interp'; e: Expr }
  | { k: 'if'; cond: Expr; then: TplPart[]; else: TplPart[] }
  | { k: 'for'; keyVar?: string; valVar: string; coll: Expr; body: TplPart[] };
