//! Ansible's default stdout callback.
