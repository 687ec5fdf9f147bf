// The allocation bitmap of a pool, like libnetwork's bitseq but sparse: fixed blocks of 1024 bits
// made on first use and dropped when empty, keyed by block number. A /64 costs nothing until
// addresses are taken; set, clear and test are O(1); finding a free bit skips a full block at a time.

const BLOCK_BITS = 1024;
const BLOCK_SHIFT = 10n;
const BLOCK_MASK = 1023n;

interface Block {
  words: Uint32Array;
  count: number;
}

/** The index of the lowest set bit of a non-zero 32-bit value. */
const lowestBit = (x: number): number => 31 - Math.clz32(x & -x);

/** A set of non-negative BigInts (address offsets) as a sparse bitmap. */
export class SparseBitmap {
  private readonly blocks = new Map<bigint, Block>();
  private count = 0n;

  /** How many values are set. */
  get size(): bigint {
    return this.count;
  }

  has(value: bigint): boolean {
    const block = this.blocks.get(value >> BLOCK_SHIFT);
    const bit = Number(value & BLOCK_MASK);
    return block !== undefined && (block.words[bit >>> 5] & (1 << (bit & 31))) !== 0;
  }

  /** Sets `value`; false if it was already set. */
  add(value: bigint): boolean {
    const key = value >> BLOCK_SHIFT;
    let block = this.blocks.get(key);
    if (!block) {
      block = { words: new Uint32Array(BLOCK_BITS / 32), count: 0 };
      this.blocks.set(key, block);
    }
    const bit = Number(value & BLOCK_MASK);
    const mask = 1 << (bit & 31);
    if ((block.words[bit >>> 5] & mask) !== 0) return false;
    block.words[bit >>> 5] |= mask;
    block.count++;
    this.count++;
    return true;
  }

  /** Clears `value`; false if it was not set. */
  delete(value: bigint): boolean {
    const key = value >> BLOCK_SHIFT;
    const block = this.blocks.get(key);
    const bit = Number(value & BLOCK_MASK);
    const mask = 1 << (bit & 31);
    if (!block || (block.words[bit >>> 5] & mask) === 0) return false;
    block.words[bit >>> 5] &= ~mask;
    if (--block.count === 0) this.blocks.delete(key);
    this.count--;
    return true;
  }

  /** The smallest value >= `from` that is not set. Costs one step per full block passed. */
  nextAbsent(from: bigint): bigint {
    let key = from >> BLOCK_SHIFT;
    let bit = Number(from & BLOCK_MASK);
    for (;;) {
      const block = this.blocks.get(key);
      if (!block) return (key << BLOCK_SHIFT) | BigInt(bit);
      if (block.count < BLOCK_BITS) {
        for (let w = bit >>> 5; w < BLOCK_BITS / 32; w++) {
          let free = ~block.words[w];
          if (w === bit >>> 5) free &= -1 << (bit & 31);
          if (free !== 0) return (key << BLOCK_SHIFT) | BigInt(w * 32 + lowestBit(free));
        }
      }
      key++;
      bit = 0;
    }
  }

  /** Every set value in ascending order. */
  *values(): IterableIterator<bigint> {
    const keys = [...this.blocks.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const key of keys) {
      const { words } = this.blocks.get(key)!;
      for (let w = 0; w < words.length; w++) {
        for (let rest = words[w]; rest !== 0; rest &= rest - 1) {
          yield (key << BLOCK_SHIFT) | BigInt(w * 32 + lowestBit(rest));
        }
      }
    }
  }
}
