//! taskmgr's backend API.
