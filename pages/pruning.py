import streamlit as st

st.title("pruning (in progress)")
