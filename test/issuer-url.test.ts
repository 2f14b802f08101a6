import test from 'ava';
import { AssociateIdentityProviderConfigCommand, CreateClusterCommand, EKSClient, InvalidParameterException } from '@aws-sdk/client-eks';
import { startEmulator } from '../emulator';
import { issuerUrlProblem } from '../identity/issuer';
import { buildApp, validateApp } from '../main';
import { createEksProvider } from '../providers/eks/index';

/**
 * One table of issuer URLs, run through the three places that check them: synth (the stacks'
 * construct validation), plan (the EKS provider's validateResourceConfig) and the emulator
 * (AssociateIdentityProviderConfig answers InvalidParameterException, as EKS does).
 */

const ACCEPTED = [
  'https://dex.example.com',
  'https://dex.example.com/',
  'https://example.okta.com/oauth2/default',
  'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0',
  'https://dex.example.com:8443',
  'https://dex.example.com:8443/dex/',
  'https://127.0.0.1:5556/dex',
  'https://[::1]:5556/dex',
];

/** [url, what the message must say]. */
const REFUSED: [string, RegExp][] = [
  ['https:/dex.example.com', /must start with exactly "https:\/\/"/],
  ['https:dex.example.com', /must start with exactly "https:\/\/"/],
  [' https://dex.example.com', /whitespace or control characters \(a space at position 1\)/],
  ['https://dex.example.com ', /whitespace or control characters \(a space at position 24\)/],
  ['https://dex.example.com/\tx', /whitespace or control characters \(whitespace at position 25\)/],
  ['https://dex.example.com/\u0001', /whitespace or control characters \(a control character at position 25\)/],
  ['https://dex.example.com/\u007f', /whitespace or control characters \(a control character at position 25\)/],
  ['https://dex.example.com\n', /whitespace or control characters/],
  ['https://dex.exa\u00a0mple.com', /whitespace or control characters \(whitespace at position 16\)/],
  ['https://dex.example.com/\u0085', /whitespace or control characters/],
  ['HTTPS://dex.example.com', /must start with exactly "https:\/\/"/],
  ['Https://dex.example.com', /must start with exactly "https:\/\/"/],
  ['http://dex.example.com', /must use https:\/\//],
  ['dex.example.com', /must use https:\/\//],
  ['https://', /must name a host/],
  ['https:///path', /must name a host/],
  ['https://:8443/dex', /must name a host/],
  ['https://dex.example.com/?a=b', /must not contain a query string/],
  ['https://dex.example.com?', /must not contain a query string/],
  ['https://dex.example.com/#x', /must not contain a fragment/],
  ['https://user@dex.example.com', /must not contain user information/],
  ['https://user:pw@dex.example.com/dex', /must not contain user information/],
  ['https://dex.example.com:port', /is not a valid URL/],
  ['https://[::1/dex', /is not a valid URL/],
];

test('issuerUrlProblem: the accepted URLs pass and each refused one names its problem', (t) => {
  for (const url of ACCEPTED) t.is(issuerUrlProblem(url), undefined, JSON.stringify(url));
  for (const [url, why] of REFUSED) t.regex(issuerUrlProblem(url) ?? 'accepted', why, JSON.stringify(url));
});

function synthErrors(issuerUrl: string): string[] {
  const app = buildApp({
    outdir: '/nonexistent-never-written',
    envs: [{ name: 'env', region: 'us-east-1', endpoint: 'http://127.0.0.1:1', clusters: [{ name: 'c', version: '1.32', roleArn: 'r', subnetIds: ['s'], identityProviders: [{ name: 'idp', issuerUrl, clientId: 'k' }] }] }],
  });
  return validateApp(app);
}

test('synth: accepted issuer URLs synthesize, refused ones fail naming the construct, the field and the problem', (t) => {
  for (const url of ACCEPTED) t.deepEqual(synthErrors(url), [], JSON.stringify(url));
  for (const [url, why] of REFUSED) {
    const errors = synthErrors(url);
    t.is(errors.length, 1, `${JSON.stringify(url)}: ${errors.join('; ')}`);
    t.true(errors[0]!.startsWith(`[env/c/idp] oidc[0].issuer_url: issuer_url ${JSON.stringify(url)} `), errors[0]);
    t.regex(errors[0]!, why);
  }
});

test('plan: the EKS provider\'s validateResourceConfig accepts and refuses the same URLs, naming address and attribute', (t) => {
  const p = createEksProvider();
  const validate = (issuer_url: string) => p.validateResourceConfig({
    typeName: 'aws_eks_identity_provider_config', address: 'aws_eks_identity_provider_config.x',
    config: { cluster_name: 'c', oidc: [{ client_id: 'k', identity_provider_config_name: 'idp', issuer_url }] },
  }).diagnostics;
  for (const url of ACCEPTED) t.deepEqual(validate(url), [], JSON.stringify(url));
  for (const [url, why] of REFUSED) {
    const d = validate(url);
    t.is(d.length, 1, JSON.stringify(url));
    t.is(d[0]!.address, 'aws_eks_identity_provider_config.x');
    t.deepEqual(d[0]!.attribute, ['oidc', 0, 'issuer_url']);
    t.regex(d[0]!.summary, why, JSON.stringify(url));
  }
});

test('emulator: AssociateIdentityProviderConfig answers InvalidParameterException for each refused URL and associates each accepted one', async (t) => {
  const em = await startEmulator({ port: 0, clusterCreateMs: 0, updateMs: 0 });
  t.teardown(() => em.close());
  const eks = new EKSClient({ region: 'us-east-1', endpoint: em.url, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  t.teardown(() => eks.destroy());
  const associate = (clusterName: string, issuerUrl: string, name: string) =>
    eks.send(new AssociateIdentityProviderConfigCommand({ clusterName, oidc: { identityProviderConfigName: name, issuerUrl, clientId: 'k' } }));
  await eks.send(new CreateClusterCommand({ name: 'refused', version: '1.32', roleArn: 'arn:aws:iam::000000000000:role/eks', resourcesVpcConfig: { subnetIds: ['subnet-1'] } }));
  for (const [url, why] of REFUSED) {
    const err = await t.throwsAsync(associate('refused', url, 'idp'), { instanceOf: InvalidParameterException }, JSON.stringify(url));
    t.regex(err?.message ?? '', why, JSON.stringify(url));
  }
  // One cluster per accepted URL: a cluster runs one update at a time.
  for (const [i, url] of ACCEPTED.entries()) {
    await eks.send(new CreateClusterCommand({ name: `ok${i}`, version: '1.32', roleArn: 'arn:aws:iam::000000000000:role/eks', resourcesVpcConfig: { subnetIds: ['subnet-1'] } }));
    const r = await associate(`ok${i}`, url, 'idp');
    t.truthy(r.update?.id, JSON.stringify(url));
  }
});
