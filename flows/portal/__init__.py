"""The submission portal: accounts sign in, upload files and see the answer at once."""
