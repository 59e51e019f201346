import packageJson from '../package.json';

/** Recorded in every manifest and erasure record, so a reader knows which code wrote it. */
export const GENERATOR = { name: packageJson.name, version: packageJson.version } as const;
