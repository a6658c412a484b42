// Types of build.mjs, for the TypeScript tests that import it.
export interface BundleFile {
  readonly name: string;
  readonly file: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  /** Modules the file still imports at run time (Node built-ins only when everything was bundled). */
  readonly externalImports: readonly string[];
}

export declare const BUNDLE_ENTRIES: Readonly<Record<string, string>>;
export declare const BUNDLE_TARGET: string;

export declare function buildBundle(options: {
  outdir: string;
  entries?: Readonly<Record<string, string>>;
  minify?: boolean;
}): Promise<{ files: BundleFile[]; warnings: readonly { text: string }[] }>;
