import streamlit as st

st.title("chooser (in progress)")
