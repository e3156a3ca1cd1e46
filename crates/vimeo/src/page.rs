//! [`Paginator`]: the items of a list endpoint, a page at a time, following
//! `paging.next`.

use std::collections::VecDeque;

use serde::de::DeserializeOwned;

use crate::client::VimeoClient;
use crate::error::Error;
use crate::models::Page;
use crate::request::ApiRequest;

/// Items of a list endpoint, fetched a page at a time.
#[derive(Debug)]
pub struct Paginator<T> {
    pub(crate) client: VimeoClient,
    pub(crate) next: Option<String>,
    pub(crate) buffer: VecDeque<T>,
    pub(crate) pages: u32,
}

impl<T: DeserializeOwned> Paginator<T> {
    /// The next item; `None` after the last one. After an error the paginator
    /// ends.
    pub async fn next(&mut self) -> Option<Result<T, Error>> {
        loop {
            if let Some(item) = self.buffer.pop_front() {
                return Some(Ok(item));
            }
            let path = self.next.take()?;
            let page: Page<T> = match self
                .client
                .send(ApiRequest::get(path))
                .await
                .and_then(|r| r.json())
            {
                Ok(page) => page,
                Err(error) => return Some(Err(error)),
            };
            self.pages += 1;
            // `paging.next` is relative to the API host; a page without paging ends the list.
            self.next = page
                .paging
                .and_then(|p| p.next)
                .filter(|next| !next.is_empty());
            self.buffer.extend(page.data);
        }
    }

    /// Every remaining item.
    pub async fn collect_all(mut self) -> Result<Vec<T>, Error> {
        let mut items = Vec::new();
        while let Some(item) = self.next().await {
            items.push(item?);
        }
        Ok(items)
    }

    /// Pages fetched so far.
    pub fn pages_fetched(&self) -> u32 {
        self.pages
    }
}

impl<T: DeserializeOwned + Send + 'static> Paginator<T> {
    /// The items as a [`futures_core::Stream`].
    ///
    /// ```no_run
    /// # async fn f(client: vimeo::VimeoClient) -> Result<(), vimeo::Error> {
    /// use futures_util::StreamExt as _;
    /// let stream = client.paginate::<vimeo::Video>("/me/videos").into_stream();
    /// let first_ten: Vec<_> = stream.take(10).collect().await;
    /// # Ok(()) }
    /// ```
    pub fn into_stream(self) -> impl futures_core::Stream<Item = Result<T, Error>> + Send {
        futures_util::stream::unfold(self, |mut pages| async move {
            let item = pages.next().await?;
            Some((item, pages))
        })
    }
}
