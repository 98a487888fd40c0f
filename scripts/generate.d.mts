export declare const schemaDir: string;
export declare const outputDir: string;
export declare function generate(): Promise<Record<string, string>>;
