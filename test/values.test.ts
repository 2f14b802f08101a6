import test from 'ava';
import { UNKNOWN, type Value } from '../engine/protocol';
import { blocks, EXACT, firstBlock, isZeroValue, valuesEqual, ZERO_VALUES, ZERO_VALUES_SET } from '../engine/util';

/** engine/util's value helpers: one equality with its rules named by each caller, one block reader. */

test('EXACT: the same JSON value, key order aside; null, "", false, [] and {} are all different', (t) => {
  t.true(valuesEqual({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 }, EXACT));
  t.true(valuesEqual(undefined, null, EXACT));
  const zeros: Value[] = [null, '', false, [], {}];
  for (const x of zeros) for (const y of zeros) if (x !== y) t.false(valuesEqual(x, y, EXACT), `${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
  t.false(valuesEqual({ a: null }, {}, EXACT), 'an attribute set to null is not an absent one');
  t.false(valuesEqual(['a', 'b'], ['b', 'a'], EXACT), 'lists are ordered');
});

test('ZERO_VALUES: unset, null, "", false, [] and {} alike at any depth, as hashicorp/aws diffs', (t) => {
  const zeros: (Value | undefined)[] = [undefined, null, '', false, [], {}];
  for (const x of zeros) for (const y of zeros) t.true(valuesEqual(x, y, ZERO_VALUES), `${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
  t.true(valuesEqual({ a: '', b: [{ c: null }] }, { b: [{ c: false }] }, ZERO_VALUES));
  t.false(valuesEqual({ a: 'x' }, {}, ZERO_VALUES));
  t.false(valuesEqual(0, null, ZERO_VALUES), 'a number is never a zero value');
  t.false(valuesEqual(['a', 'b'], ['b', 'a'], ZERO_VALUES), 'lists are ordered');
  t.true(valuesEqual(['a', 'b'], ['b', 'a'], ZERO_VALUES_SET), 'sets are not');
  t.true(valuesEqual([{ k: 2 }, { k: 1 }], [{ k: 1 }, { k: 2 }], ZERO_VALUES_SET));
  t.false(valuesEqual(['a', 'a'], ['a', 'b'], ZERO_VALUES_SET));
  t.true(isZeroValue(undefined) && isZeroValue({}) && !isZeroValue(0) && !isZeroValue(UNKNOWN));
});

test('an unknown value equals nothing under every rule, not even another unknown: it may still change', (t) => {
  for (const rule of [EXACT, ZERO_VALUES, ZERO_VALUES_SET]) {
    t.false(valuesEqual(UNKNOWN, UNKNOWN, rule));
    t.false(valuesEqual(UNKNOWN, null, rule));
    t.false(valuesEqual({ a: UNKNOWN }, { a: UNKNOWN }, rule));
    t.false(valuesEqual([UNKNOWN], [UNKNOWN], rule));
  }
});

test('a nested block is read the same way everywhere: a list of objects or the object itself, never an unknown', (t) => {
  t.deepEqual(blocks([{ a: 1 }, null, { b: 2 }]), [{ a: 1 }, { b: 2 }]);
  t.deepEqual(blocks({ a: 1 }), [{ a: 1 }]);
  for (const none of [null, undefined, UNKNOWN, 'x', []]) {
    t.deepEqual(blocks(none), []);
    t.is(firstBlock(none), undefined);
  }
  t.deepEqual(firstBlock([{ a: 1 }, { b: 2 }]), { a: 1 });
  t.deepEqual(firstBlock({ a: 1 }), { a: 1 });
  t.is(firstBlock([UNKNOWN]), undefined);
});
