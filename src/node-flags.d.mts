/** The V8 flags of a platform process running `role` (its ROLE; default all). */
export function platformNodeFlags(role?: string): string[];
