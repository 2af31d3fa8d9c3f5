// The C++ compiler @bmp/backends-native builds with: the first of $CXX, c++, g++, clang++ that runs
// (`--version` exits 0). One definition, used by build-native.mjs, the monorepo's pack check and CI.
//
//   node scripts/find-compiler.mjs   # prints "<compiler>\t<first line of --version>", exits 1 if none
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The compilers tried, in order ($CXX first when set). */
export function compilerCandidates(env = process.env) {
  return [env.CXX, 'c++', 'g++', 'clang++'].filter(Boolean);
}

/** The same list in words, for messages. */
export const COMPILER_CANDIDATES_TEXT = '$CXX, c++, g++, clang++';

/** `{ cxx, version }` of the first candidate that runs, or null. */
export function findCompiler(env = process.env) {
  for (const cxx of compilerCandidates(env)) {
    const r = spawnSync(cxx, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (!r.error && r.status === 0) return { cxx, version: r.stdout.split('\n')[0].trim() };
  }
  return null;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const compiler = findCompiler();
  if (compiler == null) {
    console.error(`no C++ compiler found (${COMPILER_CANDIDATES_TEXT})`);
    process.exit(1);
  }
  console.log(`${compiler.cxx}\t${compiler.version}`);
}
