/**
 * Finds the live variable name that corresponds to a name saved earlier. tfjs-layers gives the variables
 * of a model loaded with `tf.loadLayersModel` the saved names, with `_<n>` appended when that name was
 * already used in the process (`dense_Dense1/kernel` becomes `dense_Dense1/kernel_1`). Returns the exact
 * name if present, else the one `<saved>_<n>` candidate, else undefined; several candidates are an error.
 */
export function findRenamed(savedName: string, names: Iterable<string>): string | undefined {
  const candidates: string[] = [];
  for (const name of names) {
    if (name === savedName) return name;
    if (name.startsWith(`${savedName}_`) && /^\d+$/.test(name.slice(savedName.length + 1)))
      candidates.push(name);
  }
  if (candidates.length > 1) {
    throw new Error(
      `saved variable '${savedName}' matches several live variables (${candidates.join(', ')}); pass the blocks explicitly`,
    );
  }
  return candidates[0];
}
