#!/usr/bin/env node
import { main } from './cli';

main().catch((e) => {
  console.error(`bmp-viewer: ${(e as Error).message}`);
  process.exit(1);
});
