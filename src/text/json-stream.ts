/**
 * A JSON array written piece by piece: the same text as JSON.stringify(array, null, 2) nested at
 * `indent`, without ever holding the whole array or its text (a store may hold millions of rows).
 */
export function* jsonArrayPieces(items: Iterable<unknown>, indent = ''): Generator<string> {
  const inner = `${indent}  `;
  let first = true;
  for (const item of items) {
    yield `${first ? '[\n' : ',\n'}${inner}${JSON.stringify(item, null, 2).replace(/\n/g, `\n${inner}`)}`;
    first = false;
  }
  yield first ? '[]' : `\n${indent}]`;
}
