//! Part of `tests/chaos.rs`: the client of the four nodes.

use super::*;

/// Typed clients of the four nodes' APIs, on a runtime of the calling thread.
pub(super) struct Api {
    pub(super) rt: tokio::runtime::Runtime,
    pub(super) clients: Vec<(&'static str, Client)>,
}

impl Api {
    pub(super) fn new(dirs: &[(&'static str, PathBuf)]) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let clients = dirs
            .iter()
            .map(|(org, dir)| {
                let client = Client::from_org_dir(dir)
                    .unwrap_or_else(|err| panic!("a client of {org}'s node: {err}"));
                (*org, client)
            })
            .collect();
        Self { rt, clients }
    }

    pub(super) fn client(&self, org: &str) -> &Client {
        &self
            .clients
            .iter()
            .find(|(name, _)| *name == org)
            .unwrap_or_else(|| panic!("no client of {org}"))
            .1
    }

    pub(super) fn on<T>(&self, future: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(future)
    }

    pub(super) fn height(&self, org: &str) -> Option<u64> {
        self.on(self.client(org).status()).ok().map(|s| s.height)
    }

    /// Every node's height, or a panic naming the one that does not answer.
    pub(super) fn heights(&self) -> Vec<(&'static str, u64)> {
        ORGS.iter()
            .map(|org| {
                let height = self
                    .on(self.client(org).status())
                    .unwrap_or_else(|err| panic!("{org}'s node does not answer status: {err}"))
                    .height;
                (*org, height)
            })
            .collect()
    }

    pub(super) fn request(&self, org: &str, id: &RequestId) -> Option<RequestDetail> {
        self.on(self.client(org).request(id)).ok()
    }

    pub(super) fn all_records(&self, org: &str) -> Vec<RecordView> {
        let mut all = Vec::new();
        loop {
            let filter = RecordFilter {
                offset: Some(all.len() as u64),
                limit: Some(1000),
                ..RecordFilter::default()
            };
            let page = self
                .on(self.client(org).records(&filter))
                .unwrap_or_else(|err| panic!("records of {org}'s node: {err}"));
            let done = page.records.len() < 1000;
            all.extend(page.records);
            if done {
                return all;
            }
        }
    }

    pub(super) fn all_requests(
        &self,
        org: &str,
        status: Option<RequestStatus>,
    ) -> Vec<RequestView> {
        let mut all = Vec::new();
        loop {
            let filter = RequestFilter {
                status,
                offset: Some(all.len() as u64),
                limit: Some(1000),
                ..RequestFilter::default()
            };
            let page = self
                .on(self.client(org).requests(&filter))
                .unwrap_or_else(|err| panic!("requests of {org}'s node: {err}"));
            let done = page.requests.len() < 1000;
            all.extend(page.requests);
            if done {
                return all;
            }
        }
    }
}
