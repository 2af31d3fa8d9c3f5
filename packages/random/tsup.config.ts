import { bmpLibraryConfig } from '@bmp/tsup-config';

export default bmpLibraryConfig();
