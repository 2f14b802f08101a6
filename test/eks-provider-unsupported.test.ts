import test from 'ava';
import { isUnknown, type ObjectValue, type Value } from '../engine/protocol';
import { createEksProvider } from '../providers/eks/index';

const config: ObjectValue = { name: 'dev', role_arn: 'arn:aws:iam::000000000000:role/eks', version: '1.32', vpc_config: [{ subnet_ids: ['subnet-1'] }] };

/** A prior state as after a create: the create plan with its unknowns filled in. */
function priorFrom(planned: ObjectValue): ObjectValue {
  const fill = (v: Value): Value => (isUnknown(v) ? 'x' : Array.isArray(v) ? v.map(fill) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)])) : v);
  return fill(planned) as ObjectValue;
}

test('a cluster change Terraform makes in place but eksidp cannot apply is refused at plan time, naming address and attribute', (t) => {
  const p = createEksProvider();
  const create = p.planResourceChange({ typeName: 'aws_eks_cluster', address: 'aws_eks_cluster.dev', priorState: null, proposedNewState: config, config });
  const prior = priorFrom(create.plannedState!);
  const changed = { ...config, storage_config: [{ block_storage: [{ enabled: true }] }] };
  const r = p.planResourceChange({ typeName: 'aws_eks_cluster', address: 'aws_eks_cluster.dev', priorState: prior, proposedNewState: changed, config: changed });
  t.is(r.plannedState, null);
  t.is(r.diagnostics.length, 1);
  t.is(r.diagnostics[0]!.severity, 'error');
  t.regex(r.diagnostics[0]!.summary, /aws_eks_cluster\.dev: eksidp cannot yet update storage_config.* in place/);
  // A supported in-place change (version) still plans as an update.
  const upgraded = { ...config, version: '1.33' };
  const ok = p.planResourceChange({ typeName: 'aws_eks_cluster', address: 'aws_eks_cluster.dev', priorState: prior, proposedNewState: upgraded, config: upgraded });
  t.deepEqual(ok.diagnostics, []);
  t.deepEqual(ok.requiresReplace, []);
  t.is(ok.plannedState?.version, '1.33');
});
