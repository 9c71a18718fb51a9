/**
 * Text that remembers where it came from. A condition is assembled from
 * pieces: the rule's own `condition:`, appended conditions from other items
 * (possibly other files), and generated exception text. Errors found at an
 * offset of the assembled string are mapped back through this to a file
 * position; generated text maps to nothing.
 */

export interface TextPiece {
  /** Offset of the piece in the assembled text. */
  readonly start: number;
  readonly length: number;
  readonly file: string;
  /** File offset of the piece's i-th character. */
  readonly fileOffset: (i: number) => number;
}

export interface FileSpot {
  readonly file: string;
  readonly offset: number;
}

export class SourcedText {
  readonly text: string;
  readonly pieces: readonly TextPiece[];

  constructor(text: string, pieces: readonly TextPiece[] = []) {
    this.text = text;
    this.pieces = pieces;
  }

  static from(text: string, file: string, fileOffset: (i: number) => number): SourcedText {
    return new SourcedText(text, [{ start: 0, length: text.length, file, fileOffset }]);
  }

  /** `this + other`, the pieces of both kept. */
  concat(other: SourcedText | string): SourcedText {
    if (typeof other === 'string') return new SourcedText(this.text + other, this.pieces);
    const shift = this.text.length;
    return new SourcedText(this.text + other.text, [
      ...this.pieces,
      ...other.pieces.map((p) => ({ ...p, start: p.start + shift })),
    ]);
  }

  /** `prefix + this`, where the prefix is generated text. */
  prefixed(prefix: string): SourcedText {
    return new SourcedText(
      prefix + this.text,
      this.pieces.map((p) => ({ ...p, start: p.start + prefix.length })),
    );
  }

  /** The file position of an offset of the text; undefined inside generated text. */
  locate(offset: number): FileSpot | undefined {
    for (const p of this.pieces) {
      if (offset >= p.start && offset < p.start + p.length) {
        return { file: p.file, offset: p.fileOffset(offset - p.start) };
      }
    }
    // At the very end of a piece (an error "at end of input") point just past its last character.
    for (const p of this.pieces) {
      if (offset === p.start + p.length && p.length > 0) {
        return { file: p.file, offset: p.fileOffset(p.length - 1) + 1 };
      }
    }
    return undefined;
  }
}
