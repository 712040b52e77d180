import type { Block } from './blocks.js';

/** Placeholder. */
export function optimize(root: Block): Block {
  return root;
}
