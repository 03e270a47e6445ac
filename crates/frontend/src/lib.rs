//! taskmgr's web UI.
