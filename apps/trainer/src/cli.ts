import { main } from './program';

main().then(() => process.exit(process.exitCode ?? 0));
