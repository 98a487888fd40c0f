export declare const schemaDir: string;
export declare const outputFile: string;
export declare function generateTypes(): Promise<string>;
