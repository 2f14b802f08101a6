/** Adds a value to the list kept under a key, in place (a copy per value is quadratic in a fleet's size). */
export function addTo<K, V>(m: Map<K, V[]>, key: K, value: V): void {
  const list = m.get(key);
  if (list) list.push(value);
  else m.set(key, [value]);
}
