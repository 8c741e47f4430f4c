// What filters and hints derive from a node's lists (its image names, its
// containers' names, its held ports), made once per list: a snapshot's lists
// are frozen and shared until the engine changes, and placement asks of
// every node on every create (30,000 containers at 1,000 nodes).

/** `derive`, remembered per list object (a changed list is a new array, so it is derived anew). */
export function perList<L extends object, V>(derive: (list: L) => V): (list: L) => V {
  const made = new WeakMap<L, V>();
  return (list) => {
    let v = made.get(list);
    if (v === undefined) made.set(list, (v = derive(list)));
    return v;
  };
}
