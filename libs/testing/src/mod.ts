export { repoRoot, sharedDir, sharedPath, sharedSkip } from './shared.js';
