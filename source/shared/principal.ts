/** Who is calling: the instance admin (REST admin token, or the CLI with the database) or one tenant. */
export type Principal = {kind: 'admin'} | {kind: 'tenant'; tenantId: string};

export const ADMIN: Principal = {kind: 'admin'};
