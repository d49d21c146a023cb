/**
 * What every paginated list says about its pages, after `total`, `page` and the page size
 * (`page_size` in seed 001's lists, `limit` in seed 003's).
 */
export function pageCounts(total: number, page: number, pageSize: number) {
  const pages = Math.ceil(total / pageSize);
  return { pages, has_next: page < pages, has_prev: page > 1 };
}
