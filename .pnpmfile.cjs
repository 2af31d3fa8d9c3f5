// @bmp/backends names its optional backends (tfjs-node, tfjs-node-gpu, webgpu, webgl) as optional peers
// for npm and other consumers. pnpm's autoInstallPeers installs a workspace project's own peers, optional
// ones included (pnpm/pnpm#11155), which would download tfjs-node's native library into this workspace
// and make the "not installed" paths untestable: inside this workspace they are left out.
const OPTIONAL_PEERS_LEFT_OUT = ['@bmp/backends'];

function readPackage(pkg) {
  if (OPTIONAL_PEERS_LEFT_OUT.includes(pkg.name) && pkg.peerDependencies && pkg.peerDependenciesMeta) {
    for (const [name, meta] of Object.entries(pkg.peerDependenciesMeta)) {
      if (meta && meta.optional) delete pkg.peerDependencies[name];
    }
  }
  return pkg;
}

module.exports = { hooks: { readPackage } };
