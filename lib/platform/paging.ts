// Page after page of a northbound listing. The platform documents pages of up to 100; a server that
// answers fewer (a cap of its own) is stepped through at the size its first page had, and the listing
// ends on its `totalCount` (or on an empty page), never on the first short page.
import { MAX_PAGE_SIZE, type Page } from './contract';

/** One page of a listing, with where it is: what a reader that stops half-way needs to go on from there. */
export interface ListedPage<T> {
  data: T[];
  pageNo: number;
  pageSize: number;
  /** Pages in the listing, as its `totalCount` says now. */
  pages: number;
}

/** Where a listing read half-way goes on: the next page's number, at the page size it was read with. */
export interface PagePosition {
  pageNo: number;
  pageSize: number;
}

export async function* pageByPage<T>(fetchPage: (pageNo: number, pageSize: number) => Promise<Page<T>>, from?: PagePosition): AsyncGenerator<ListedPage<T>> {
  let pageSize = from?.pageSize ?? MAX_PAGE_SIZE;
  const first = from?.pageNo ?? 0;
  for (let pageNo = first, seen = first * pageSize; ; pageNo += 1) {
    const { data, totalCount } = await fetchPage(pageNo, pageSize);
    seen += data.length;
    // A first page shorter than asked for, with more to come: the server's pages are that size.
    if (pageNo === 0 && data.length > 0 && data.length < pageSize && seen < totalCount) pageSize = data.length;
    yield { data, pageNo, pageSize, pages: Math.ceil(totalCount / pageSize) };
    if (data.length === 0 || seen >= totalCount) return;
  }
}

export async function* pages<T>(fetchPage: (pageNo: number, pageSize: number) => Promise<Page<T>>): AsyncGenerator<T> {
  for await (const page of pageByPage(fetchPage)) yield* page.data;
}
