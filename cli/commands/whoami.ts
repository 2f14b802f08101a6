import fs from 'node:fs';
import path from 'node:path';
import type { Command, Io } from '../command';
import { EXIT } from '../command';
import { STACK_FLAGS, stringFlag, UsageError, type Parsed } from '../args';
import { readTerraformJson, resolveStack } from '../../engine/stack-files';
import { escapeControls as e } from '../../lib/escape';
import {
  bindingsForConfig, checkBindings, decodeJwt, findIdentityProviderConfig, identityMetadata, IdentityDataError, issuerUrlProblem, judgePayload, JwtDecodeError,
  mapIdentity, oidcFromTerraform, parseSampleIdentities, rolesFor, siblingConfigs, type MappingResult, type OidcConfig, type RbacBinding, type SampleIdentity,
} from '../../identity';
import { COLOR_FLAG } from '../support';
import { colorEnabled, colors, type Color } from '../../lib/color';

/**
 * `eksidp whoami`: the Kubernetes username and groups a token (or a claims set, or each sample
 * identity) maps to under one identity provider config of a stack. Offline: no API call, no state,
 * so the token's signature is never checked and the output says so. A token is a secret: it never
 * appears in any output or error, and it is never taken from the command line, where every local
 * user can read it (`ps`, /proc/PID/cmdline): stdin, a file or EKSIDP_TOKEN instead.
 * Usernames, groups and reasons are built from claims and the stack: escaped before printing.
 */

const TOKEN_ENV = 'EKSIDP_TOKEN';
const INLINE_TOKEN = `--token takes only '-' (read the token from stdin): a token given on the command line is visible to every user of this machine in the process list (ps) while eksidp runs, so it is refused (not shown). Pass it with --token - (stdin), --token-file FILE or the ${TOKEN_ENV} environment variable`;

const SIGNATURE_NOTE = 'signature not verified: this check is offline; kube-apiserver also verifies the token against the issuer\'s signing keys';

const spec = {
  name: 'whoami',
  summary: 'Show the Kubernetes username and groups a token or claims set maps to under an identity provider config (offline).',
  flags: {
    ...STACK_FLAGS,
    config: { type: 'string', valueName: 'ADDR', required: true, description: 'The config: aws_eks_identity_provider_config.NAME, or NAME / its config name when unambiguous.' },
    claims: { type: 'string', group: 'input', valueName: 'FILE', description: 'JSON object of ID-token claims, taken as a fresh token from the config\'s issuer for its client: absent iss, aud, exp and iat are filled in (and listed).' },
    token: { type: 'string', group: 'input', valueName: '-', description: 'Read a compact JWT from stdin (it must carry iss, aud and exp; never printed). A token on the command line is refused: ps shows it to every local user. EKSIDP_TOKEN works too.' },
    'token-file': { type: 'string', group: 'input', valueName: 'FILE', description: 'Read the compact JWT from FILE (same checks as --token -).' },
    identities: { type: 'string', group: 'input', valueName: 'FILE', description: 'JSON list of {name, claims}; without --claims/--token/--identities, the config\'s sample identities are used.' },
    json: { type: 'boolean', description: 'Print JSON to stdout only.' },
    ...COLOR_FLAG,
  },
  // One positional is accepted only to refuse it without echoing it: it is likely a pasted token.
  maxPositionals: 1,
} satisfies Command['spec'];

/** One payload as its exact JSON text: Go's decoding (kube-apiserver's) sees every key, in order. */
type Input = { kind: 'single'; payload: string; strict: boolean; header?: Record<string, unknown> } | { kind: 'identities'; identities: SampleIdentity[] };

function readFileText(io: Io, file: string, flag: string): string {
  try {
    return fs.readFileSync(path.resolve(io.cwd, file), 'utf8');
  } catch (e) {
    throw new UsageError(`--${flag} ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

function readJsonFile(io: Io, file: string, flag: string): unknown {
  const text = readFileText(io, file, flag);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--${flag} ${file} is not valid JSON: ${(e as Error).message}`);
  }
}

async function readStdin(io: Io): Promise<string> {
  // Through the injected Io, as every other read of the process's input.
  if (!io.stdin) throw new UsageError('--token -: there is no standard input to read the token from');
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  if (io.signal.aborted) throw new Error('interrupted');
  return Buffer.concat(chunks).toString('utf8');
}

function readTokenFile(io: Io, file: string): string {
  try {
    return fs.readFileSync(path.resolve(io.cwd, file), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // The name is not echoed: a token pasted in its place would be printed.
    throw new UsageError(`--token-file: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder' : 'cannot be read'} (name not shown)`);
  }
}

/** Where the token comes from: stdin, a file or the environment; never the command line. */
async function readToken(io: Io, values: Parsed['values']): Promise<{ raw: string; from: string } | undefined> {
  const flag = stringFlag(values, 'token');
  const file = stringFlag(values, 'token-file');
  const env = io.env[TOKEN_ENV];
  if (flag !== undefined) return { raw: await readStdin(io), from: '--token' };
  if (file !== undefined) return { raw: readTokenFile(io, file), from: '--token-file' };
  if (env !== undefined && env !== '') return { raw: env, from: TOKEN_ENV };
  return undefined;
}

async function readInput(io: Io, values: Parsed['values'], sampleIdentities: SampleIdentity[], address: string): Promise<Input> {
  const claimsFile = stringFlag(values, 'claims');
  const identitiesFile = stringFlag(values, 'identities');
  const given = [
    claimsFile !== undefined && '--claims', stringFlag(values, 'token') !== undefined && '--token -', stringFlag(values, 'token-file') !== undefined && '--token-file',
    identitiesFile !== undefined && '--identities', io.env[TOKEN_ENV] ? TOKEN_ENV : false,
  ].filter((x): x is string => typeof x === 'string');
  if (given.length > 1) {
    throw new UsageError(`eksidp whoami: use one of --claims, --token -, --token-file, --identities and ${TOKEN_ENV} (got ${given.join(', ')})`);
  }
  const token = await readToken(io, values);
  if (claimsFile !== undefined) {
    const claims = readJsonFile(io, claimsFile, 'claims');
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new UsageError(`--claims ${claimsFile}: must be a JSON object of claims`);
    return { kind: 'single', payload: readFileText(io, claimsFile, 'claims'), strict: false };
  }
  if (token !== undefined) {
    try {
      const jwt = decodeJwt(token.raw);
      return { kind: 'single', payload: jwt.payload, strict: true, header: jwt.header };
    } catch (err) {
      if (err instanceof JwtDecodeError) throw new UsageError(`${token.from}: ${err.message}`);
      throw err;
    }
  }
  if (identitiesFile !== undefined) {
    try {
      return { kind: 'identities', identities: parseSampleIdentities(readJsonFile(io, identitiesFile, 'identities'), identitiesFile) };
    } catch (e) {
      if (e instanceof IdentityDataError) throw new UsageError(`--identities ${e.message}`);
      throw e;
    }
  }
  if (sampleIdentities.length > 0) return { kind: 'identities', identities: sampleIdentities };
  throw new UsageError(`eksidp whoami: pass --claims FILE, --token - (stdin), --token-file FILE, ${TOKEN_ENV} or --identities FILE (${e(address)} has no sample identities)`);
}

function colorOn(io: Io, values: Parsed['values']): boolean {
  return !values.json && colorEnabled(io.stdout, io.env, values.color);
}

function resultJson(r: MappingResult, bindings: RbacBinding[] | undefined): Record<string, unknown> {
  if ('undetermined' in r) return { accepted: false, undetermined: true, code: r.code, reason: r.reason };
  if (!r.accepted) return { accepted: false, code: r.code, reason: r.reason };
  const out: Record<string, unknown> = { accepted: true, username: r.username, groups: r.groups, warnings: r.warnings };
  if (bindings) out.roles = rolesFor(r, bindings).map((g) => ({ binding: g.label, via: g.via }));
  return out;
}

function humanLines(r: MappingResult, bindings: RbacBinding[] | undefined, paint: (c: 'red' | 'green' | 'yellow', s: string) => string, indent: string): string[] {
  if ('undetermined' in r) return [`${indent}${paint('yellow', 'undetermined')}: ${e(r.reason)}`];
  if (!r.accepted) return [`${indent}${paint('red', 'rejected')}: ${e(r.reason)}`];
  const lines = [
    `${indent}${paint('green', 'accepted')}`,
    `${indent}  username: ${e(r.username)}`,
    `${indent}  groups:   ${r.groups.length ? r.groups.map(e).join(', ') : '(none)'}`,
  ];
  if (bindings) {
    const roles = rolesFor(r, bindings);
    lines.push(`${indent}  roles:    ${roles.length ? roles.map((g) => `${e(g.label)} (via ${e(g.via)})`).join(', ') : '(none of the stack\'s bindings)'}`);
  }
  for (const w of r.warnings) lines.push(`${indent}  ${paint('yellow', 'warning')}: ${e(w)}`);
  return lines;
}

function describeConfig(address: string, c: OidcConfig): string {
  return `${e(address)} (issuer ${e(c.issuerUrl)}, client ID ${e(c.clientId)})`;
}

export const command: Command = {
  spec,
  async run(args, io) {
    const { values, positionals } = args;
    if (positionals.length > 0) {
      throw new UsageError(`eksidp whoami: unexpected argument (not shown: it may be a token); pass a token with --token - (stdin), --token-file FILE or ${TOKEN_ENV}`);
    }
    // Before anything else: the token is already in the process list, say so at once.
    const tokenFlag = stringFlag(values, 'token');
    if (tokenFlag !== undefined && tokenFlag !== '-') throw new UsageError(`eksidp whoami: ${INLINE_TOKEN}`);
    const ref = stringFlag(values, 'config');
    if (ref === undefined) throw new UsageError('eksidp whoami: --config ADDR is required (e.g. aws_eks_identity_provider_config.NAME)');
    const loc = resolveStack({ stack: stringFlag(values, 'stack'), dir: stringFlag(values, 'dir'), cwd: io.cwd });
    const tf = readTerraformJson(loc);

    let address: string;
    let config: OidcConfig;
    let sampleIdentities: SampleIdentity[];
    let bindings: RbacBinding[] | undefined;
    let siblings: OidcConfig[] = [];
    try {
      const entry = findIdentityProviderConfig(tf, ref);
      address = entry.address;
      try {
        config = oidcFromTerraform(entry.resource.oidc);
        // kube-apiserver refuses such flags at start (validation.go validateURL): nothing to evaluate.
        const problem = issuerUrlProblem(config.issuerUrl);
        if (problem) throw new IdentityDataError(`oidc.issuer_url ${JSON.stringify(config.issuerUrl)} ${problem}: kube-apiserver refuses this config`, 'oidc.issuer_url');
        sampleIdentities = identityMetadata(entry.resource).sampleIdentities;
        const found = bindingsForConfig(tf, entry.resource);
        bindings = found.cluster ? found.bindings : undefined;
        siblings = siblingConfigs(tf, entry).map((s) => s.config);
      } catch (e) {
        if (e instanceof IdentityDataError) throw new IdentityDataError(`${entry.address}: ${e.message}`, e.field);
        throw e;
      }
    } catch (err) {
      if (err instanceof IdentityDataError) {
        io.stderr.write(`Error: ${e(err.message)} (${path.relative(io.cwd, loc.file) || loc.file})\n`);
        return EXIT.ERROR;
      }
      throw err;
    }

    const input = await readInput(io, values, sampleIdentities, address);
    const color = colorOn(io, values);
    const paint = (c: Color, s: string) => colors(color)[c](s);

    if (input.kind === 'single') {
      let judged: ReturnType<typeof judgePayload>;
      try {
        judged = judgePayload(config, input.payload, { requireTokenClaims: input.strict, header: input.header });
      } catch (err) {
        throw new UsageError(`${input.strict ? 'the token\'s payload' : '--claims'}: ${(err as Error).message}`);
      }
      const r = judged.result;
      const filled = judged.filledClaims;
      const fillNote = `filled in: ${filled.join(', ')} (a claims file is taken as a fresh token from the config's issuer for its client)`;
      if (values.json) {
        io.stdout.write(`${JSON.stringify({ ...resultJson(r, bindings), config: address, signature_verified: false, ...(input.strict ? {} : { filled_claims: filled }) })}\n`);
      } else {
        const lines = [describeConfig(address, config), ...humanLines(r, bindings, paint, '')];
        if (filled.length > 0) lines.push(`note: ${e(fillNote)}`);
        io.stdout.write([...lines, `note: ${SIGNATURE_NOTE}`].join('\n') + '\n');
      }
      return r.accepted ? EXIT.OK : EXIT.REJECTED;
    }

    const results = input.identities.map((id) => ({ name: id.name, result: mapIdentity(config, id.claims) }));
    // Bindings whose subjects no config of the cluster can produce (missing prefixes, no groups
    // claim): bindings are per cluster, so a subject another config produces is not this one's problem.
    const findings = bindings ? checkBindings(config, bindings, [], undefined, siblings) : [];
    if (values.json) {
      const identities = results.map(({ name, result }) => ({ name, ...resultJson(result, bindings) }));
      const bindingFindings = findings.map((f) => ({ severity: f.severity, code: f.code, message: f.message, ...(f.binding ? { binding: f.binding } : {}), ...(f.subject ? { subject: f.subject } : {}) }));
      io.stdout.write(`${JSON.stringify({ config: address, signature_verified: false, identities, binding_findings: bindingFindings })}\n`);
    } else {
      const lines = [describeConfig(address, config)];
      for (const { name, result } of results) lines.push(`${e(name)}:`, ...humanLines(result, bindings, paint, '  '));
      for (const f of findings) lines.push(`${paint('yellow', f.severity)}: ${e(f.message)}`);
      lines.push(`note: ${SIGNATURE_NOTE}`);
      io.stdout.write(lines.join('\n') + '\n');
    }
    // Any sample identity refused is the "rejected" outcome, so scripts can gate on it.
    return results.every((x) => x.result.accepted) ? EXIT.OK : EXIT.REJECTED;
  },
};
