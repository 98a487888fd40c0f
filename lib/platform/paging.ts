// Page after page of a northbound listing. The platform documents pages of up to 100; a server that
// answers fewer (a cap of its own) is stepped through at the size its first page had, and the listing
// ends on its `totalCount` (or on an empty page), never on the first short page.
import { MAX_PAGE_SIZE, type Page } from './contract';

export async function* pages<T>(fetchPage: (pageNo: number, pageSize: number) => Promise<Page<T>>): AsyncGenerator<T> {
  let pageSize = MAX_PAGE_SIZE;
  for (let pageNo = 0, seen = 0; ; pageNo += 1) {
    const { data, totalCount } = await fetchPage(pageNo, pageSize);
    yield* data;
    seen += data.length;
    if (data.length === 0 || seen >= totalCount) return;
    // A first page shorter than asked for, with more to come: the server's pages are that size.
    if (pageNo === 0) pageSize = data.length;
  }
}
